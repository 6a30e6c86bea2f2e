"""Reading what the project wrote earlier (run folders), validated at the edge."""
