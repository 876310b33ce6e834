# Treatment zones and user profiles: the clinical part of the depth limit.
# Published guidance by area (docs/limits.md); a zone caps the depth and never
# forces a minimum (a shallower pass is not the hazard).

# name, deepest allowed depth (um), typical working range for display
ZONES = (
    ("forehead", 500, "0.25-0.5 mm"),
    ("eyes", 500, "0.25-0.5 mm"),
    ("nose", 500, "0.25-0.5 mm"),
    ("cheeks", 1500, "0.5-1.0 mm, thick skin to 1.5"),
    ("chin", 1500, "0.5-1.0 mm, thick skin to 1.5"),
    ("neck", 1000, "0.25-1.0 mm"),
    ("scalp", 1500, "0.5-1.5 mm"),
    ("scars", 2000, "1.5-2.0 mm"),
    ("body", 2500, "1.5-2.5 mm"),
)

# Home use stops at about 1.0 mm; deeper work is for trained practitioners.
PROFILES = (
    ("home", 1000),
    ("professional", 5000),
)

DEFAULT_ZONE = "forehead"      # the shallowest cap until someone chooses
DEFAULT_PROFILE = "home"


def _find(table, name, what):
    for row in table:
        if row[0] == name:
            return row
    raise ValueError("unknown {} '{}' (one of: {})".format(what, name, ", ".join(r[0] for r in table)))


def zone_max_um(zone, profile):
    """Deepest depth zone `zone` allows for `profile` (raises ValueError)."""
    return min(_find(ZONES, zone, "zone")[1], _find(PROFILES, profile, "profile")[1])


def zone_names():
    return [z[0] for z in ZONES]


def profile_names():
    return [p[0] for p in PROFILES]
