"""Training, validation, registration and promotion of models."""
