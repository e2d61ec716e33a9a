"""cimspice.surrogate."""
