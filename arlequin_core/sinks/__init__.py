"""Sinks: components that act on events (retrain locally, trigger Jenkins, webhooks)."""
