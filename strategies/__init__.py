"""Rule modules: each turns what is known at a session's close into target weights."""
