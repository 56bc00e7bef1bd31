"""Analysis: what can be said about a network before it trains (rules), about a run while it
trains (diagnostics), and how one example travels through one backprop pass (trace)."""
