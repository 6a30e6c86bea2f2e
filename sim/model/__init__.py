"""The model: parameters, modifiers, forces and the shared rate functions (docs/MODEL.md)."""
