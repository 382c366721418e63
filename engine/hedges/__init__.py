"""Option hedges: pricing and the hedge book beside the stock book."""
