"""Task suite: SymBench, BIG-Bench-Hard and Reasoning-Gym behind one `Task` contract."""
