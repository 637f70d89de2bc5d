"""Synthetic checks of deployed sites (``moai-adk monitor``)."""
