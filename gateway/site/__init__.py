"""The site: the YAML site file and the CSV register, checked whole, merged by id, stored.

``errors`` places every problem on a line (or a row and column); ``check`` holds the checks of a
whole site and the merge; ``sitefile`` reads YAML, ``register`` reads CSV, ``files`` picks one by
suffix, ``stored`` keeps the result in the store. Nothing here imports back up the chain.
"""

from gateway.site.check import SiteDocument, check_site, merge_sites
from gateway.site.errors import SiteError, SiteFileError
from gateway.site.files import load_site_file, read_site_file
from gateway.site.register import parse_register, read_register
from gateway.site.sitefile import parse_site_yaml, read_site_yaml

__all__ = [
    "SiteDocument",
    "SiteError",
    "SiteFileError",
    "check_site",
    "load_site_file",
    "merge_sites",
    "parse_register",
    "parse_site_yaml",
    "read_register",
    "read_site_file",
    "read_site_yaml",
]
