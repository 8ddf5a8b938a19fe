"""Views of a finished run: Perfetto trace, matplotlib pictures, terminal tables."""
