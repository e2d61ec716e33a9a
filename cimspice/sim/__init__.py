"""cimspice.sim."""
