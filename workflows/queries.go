package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"
)

func (s *session) listSprites() (ListSpritesResponse, error) {
	sprites := s.spriteInfos()
	return ListSpritesResponse{Sprites: sprites, Count: len(sprites)}, nil
}

func (s *session) describe() (DescribeResponse, error) {
	state := StateActive
	switch {
	case s.cleaned:
		state = StateEnded
	case s.ending || s.exitReason() != "":
		state = StateEnding
	}
	return DescribeResponse{
		SessionID:        s.id,
		State:            state,
		Sprites:          s.spriteInfos(),
		Counters:         s.st.Counters,
		StartedAt:        s.st.StartedAt,
		IdleDeadline:     s.st.LastActivityAt.Add(s.cfg.IdleTimeout),
		LifetimeDeadline: s.st.StartedAt.Add(s.cfg.MaxLifetime),
		Runs:             s.st.Runs,
		Config:           s.cfg,
	}, nil
}

// spriteInfos lists the owned sprites by name. The slices are copies: a
// query answer must not alias state a handler may change later.
func (s *session) spriteInfos() []SpriteInfo {
	infos := []SpriteInfo{}
	for _, name := range workflow.DeterministicKeys(s.st.Sprites) {
		sp := s.st.Sprites[name]
		infos = append(infos, SpriteInfo{
			SpriteName:    sp.SpriteName,
			ProviderName:  sp.ProviderName,
			Status:        sp.Status,
			StartedAt:     sp.CreatedAt,
			WorkspacePath: WorkspacePath,
			ServiceURL:    sp.URL,
			Checkpoints:   slices.Clone(sp.Checkpoints),
			Tainted:       sp.Tainted,
		})
	}
	return infos
}
