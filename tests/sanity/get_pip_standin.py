"""Offline stand-in for the get-pip script that ansible-test downloads.

ansible-test bootstraps pip in each sanity venv by fetching get-pip from a CI file host;
this machine may be offline, so bootstrap pip from ensurepip and pass the remaining
arguments to pip itself.
"""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null, which hides the machine's pip settings.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if args:
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
