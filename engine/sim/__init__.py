"""The simulation: target weights in, fills, cash and equity out, in one compiled loop per book."""
