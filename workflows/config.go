package workflows

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
