"""moai-adk: deploy web projects to BaaS platforms and to its own local platform."""

__version__ = "0.1.0"
