"""File history: versions of every file with who made each change, restore, and anchored comments."""
