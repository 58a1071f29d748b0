"""Build shim: everything else is in setup.cfg. setup.cfg cannot list found packages and mapped
ones together, and the layout keeps configs/ and scenarios/ at the top of the repository, so
this maps them into the package (dnd_ft/_data/...) where an installed wheel finds them."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["dnd_ft", "dnd_ft.*"])
    # the Hydra sweeper plugin: Hydra finds plugins in the `hydra_plugins` namespace package
    + ["hydra_plugins.dnd_ft_sweeper"]
    + ["dnd_ft._data.configs", "dnd_ft._data.scenarios"],
    package_dir={"dnd_ft._data.configs": "configs", "dnd_ft._data.scenarios": "scenarios"},
)
