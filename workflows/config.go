package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// versionRecordedConfig names the change that made a session resolve its
// limits once, from its request and the worker's defaults, record them
// (a SideEffect) and enforce MaxSprites. Runs whose history began before it
// replay with the built-in defaults and no sprite limit, as they ran.
const versionRecordedConfig = "recorded-session-config"

// resolveConfig returns the run's limits. The first run resolves them from
// in.Config, then the worker's defaults, then the built-in defaults, and
// records the result; a continued run gets them resolved in its input.
func resolveConfig(ctx workflow.Context, in SessionInput, defaults SessionConfig) (SessionConfig, error) {
	if workflow.GetVersion(ctx, versionRecordedConfig, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		c := in.Config.withDefaults()
		c.MaxSprites = 0 // no limit: the run began before there was one
		return c, nil
	}
	if in.State != nil {
		return in.Config.withDefaults(), nil
	}
	var c SessionConfig
	recorded := workflow.SideEffect(ctx, func(workflow.Context) any {
		return in.Config.or(defaults).withDefaults()
	})
	if err := recorded.Get(&c); err != nil {
		return c, fmt.Errorf("start session: reading its recorded limits: %w", err)
	}
	return c, nil
}

// or fills c's zero fields from d.
func (c SessionConfig) or(d SessionConfig) SessionConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = d.MaxLifetime
	}
	if c.OutputCap <= 0 {
		c.OutputCap = d.OutputCap
	}
	if c.MaxWriteBytes <= 0 {
		c.MaxWriteBytes = d.MaxWriteBytes
	}
	if c.MaxSprites <= 0 {
		c.MaxSprites = d.MaxSprites
	}
	return c
}

// withDefaults fills zero fields with the defaults and clamps caps to their
// limits, so the rest of the workflow reads one resolved configuration.
func (c SessionConfig) withDefaults() SessionConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	if c.OutputCap <= 0 {
		c.OutputCap = DefaultOutputCap
	}
	if c.OutputCap > MaxOutputCap {
		c.OutputCap = MaxOutputCap
	}
	if c.MaxWriteBytes <= 0 {
		c.MaxWriteBytes = DefaultMaxWriteBytes
	}
	if c.MaxWriteBytes > MaxWriteBytesLimit {
		c.MaxWriteBytes = MaxWriteBytesLimit
	}
	if c.MaxSprites <= 0 {
		c.MaxSprites = DefaultMaxSprites
	}
	if c.MaxSprites > MaxSpritesLimit {
		c.MaxSprites = MaxSpritesLimit
	}
	return c
}
