"""pytest fixtures wrapping the emulator (filled in by the emulator work)."""
