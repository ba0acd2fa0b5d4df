"""Search algorithms as stoppable generators of SearchState (see DESIGN.md); filled in by the search issue."""
