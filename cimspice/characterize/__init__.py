"""cimspice.characterize."""
