"""Entry point of ``python -m validation.latent_diffusability``."""

import sys

from validation.latent_diffusability.run import main

if __name__ == "__main__":
    sys.exit(main())
