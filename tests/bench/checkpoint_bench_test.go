package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sprite-sessions/sprite-sessions/tests/harness"
	"github.com/sprite-sessions/sprite-sessions/workflows"
)

// workspaces are the shapes BenchmarkCheckpointRestore measures. fill runs
// in the sprite: one split call makes many files without a process each.
var workspaces = []struct {
	name  string
	fill  string
	bytes int64
}{
	{"1MB", "head -c 1048576 /dev/urandom > data/blob", 1 << 20},
	{"100MB_in_100_files", "head -c 104857600 /dev/urandom | split -b 1048576 -a 3 - data/f", 100 << 20},
	{"100MB_in_10000_files", "head -c 102400000 /dev/urandom | split -b 10240 -a 4 - data/f", 102400000},
}

// BenchmarkCheckpointRestore measures the Checkpoint and RestoreCheckpoint
// updates of a session (through Temporal, the activities and localsprites)
// by workspace shape. Each iteration checkpoints, then restores that
// checkpoint; ns/op is the pair.
func BenchmarkCheckpointRestore(b *testing.B) {
	env := harness.New(b)
	for _, ws := range workspaces {
		b.Run(ws.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			defer cancel()
			s := env.Starter.Session(fmt.Sprintf("cp-%s-%d", ws.name, b.N))
			if _, err := s.CreateSprite(ctx, workflows.CreateSpriteRequest{SpriteName: "box"}); err != nil {
				b.Fatalf("CreateSprite: %v", err)
			}
			fill, err := s.Exec(ctx, workflows.ExecRequest{
				SpriteName: "box",
				Command:    "mkdir -p data && " + ws.fill + " && du -sb data && ls data | wc -l",
				TimeoutMS:  int64(workflows.MaxExecTimeout / time.Millisecond),
			})
			if err != nil || fill.ExitCode != 0 {
				b.Fatalf("filling the workspace: %+v %v", fill, err)
			}
			b.Logf("workspace %s: %s", ws.name, fill.Stdout)

			var cps, restores latencies
			b.SetBytes(ws.bytes)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				cp, err := s.Checkpoint(ctx, workflows.CheckpointRequest{SpriteName: "box"})
				if err != nil {
					b.Fatalf("Checkpoint: %v", err)
				}
				t1 := time.Now()
				if _, err := s.RestoreCheckpoint(ctx, workflows.RestoreCheckpointRequest{SpriteName: "box", CheckpointID: cp.CheckpointID}); err != nil {
					b.Fatalf("RestoreCheckpoint: %v", err)
				}
				cps = append(cps, t1.Sub(t0))
				restores = append(restores, time.Since(t1))
			}
			b.StopTimer()

			b.ReportMetric(cps.mean(), "checkpoint_ms")
			b.ReportMetric(restores.mean(), "restore_ms")
			endSession(ctx, b, s)
		})
	}
	env.AssertNoSprites(b)
}
