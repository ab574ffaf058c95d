"""Developer tooling: the process manager behind ``./dev run``. No Django import."""
