"""HTTP plumbing shared by every feature: middleware, health, metrics, static files, bodies."""
