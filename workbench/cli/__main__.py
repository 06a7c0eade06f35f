"""``python -m workbench.cli``: the ``workbench`` command (as under ``torchrun`` or ``accelerate launch``)."""

from workbench.cli import main

if __name__ == "__main__":  # a worker process started by spawn imports this module again: it must not run
    main()
