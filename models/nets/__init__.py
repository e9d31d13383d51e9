"""Segmentation networks with MC-dropout layers."""
