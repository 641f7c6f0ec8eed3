"""``python -m paysim_lab`` runs the ``paysim`` command (useful where scripts are not on PATH)."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="paysim")
