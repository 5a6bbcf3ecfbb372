"""The Dockerfile and compose.yaml: linted, validated, and their commands run."""
