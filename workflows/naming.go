package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// ManagedLabel marks every sprite sprite-sessions creates. The reaper only
// ever considers sprites that carry it.
const ManagedLabel = "sprite-sessions"

// ownerLabelPrefix starts the label naming a sprite's owner workflow:
// "sprite-sessions-owner:<namespace>/<workflow-id>".
const ownerLabelPrefix = "sprite-sessions-owner:"

// providerPrefix starts every provider name we derive.
const providerPrefix = "ss-"

var (
	spriteNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	sessionIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ValidateSpriteName checks a logical sprite name: 1-63 chars of [a-z0-9-],
// no leading or trailing '-'.
func ValidateSpriteName(name string) error {
	if !spriteNameRE.MatchString(name) {
		return fmt.Errorf("invalid sprite_name %q: want 1-63 chars of a-z, 0-9 and '-', not starting or ending with '-'", name)
	}
	return nil
}

// ValidateSessionID checks a session ID: 1-128 chars of [A-Za-z0-9._-],
// starting with a letter or digit.
func ValidateSessionID(id string) error {
	if !sessionIDRE.MatchString(id) {
		return fmt.Errorf("invalid session ID %q: want 1-128 chars of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit", id)
	}
	return nil
}

// ProviderName derives the sprite's name at the Sprites API from the
// namespace, session ID and logical name. It is deterministic (so a retried
// create finds its own sprite), a valid Sprites name of at most 63 chars,
// and distinct across sessions and namespaces.
func ProviderName(namespace, sessionID, spriteName string) string {
	owner := shortHash(namespace+"\x00"+sessionID, 10)
	name := providerPrefix + owner + "-" + spriteName
	if len(name) <= 63 {
		return name
	}
	// Keep a readable head of the logical name and make it unique with a hash.
	keep := 63 - len(providerPrefix) - len(owner) - 1 - 1 - 8
	head := strings.TrimRight(spriteName[:keep], "-")
	return providerPrefix + owner + "-" + head + "-" + shortHash(spriteName, 8)
}

// OwnerLabel names the owner workflow of a sprite.
func OwnerLabel(namespace, workflowID string) string {
	return ownerLabelPrefix + namespace + "/" + workflowID
}

// OwnerLabels are the labels put on every sprite a session creates.
func OwnerLabels(namespace, workflowID string) []string {
	return []string{ManagedLabel, OwnerLabel(namespace, workflowID)}
}

// ParseOwner finds the owner label among labels. ok is false when the sprite
// is not ours (no ManagedLabel) or names no owner.
func ParseOwner(labels []string) (namespace, workflowID string, ok bool) {
	managed := false
	for _, l := range labels {
		if l == ManagedLabel {
			managed = true
			continue
		}
		if rest, found := strings.CutPrefix(l, ownerLabelPrefix); found {
			ns, wf, cut := strings.Cut(rest, "/")
			if cut && ns != "" && wf != "" {
				namespace, workflowID = ns, wf
			}
		}
	}
	if !managed || workflowID == "" {
		return "", "", false
	}
	return namespace, workflowID, true
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}
