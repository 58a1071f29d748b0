"""Name pools for entity substitution: invented fantasy names, none from the SRD or our scenarios."""

from __future__ import annotations

FIRST_NAMES = (
    "Aldric", "Brisa", "Caelan", "Dorian", "Elowen", "Fenna", "Garrick", "Halia", "Isolde", "Jareth",
    "Kestra", "Lorcan", "Maelis", "Nerys", "Orrin", "Perrin", "Quenna", "Rhosyn", "Sorrel", "Talwyn",
    "Ulric", "Vesna", "Wystan", "Yara", "Zephyrine", "Ansel", "Bryony", "Corwin", "Delphine", "Emrys",
    "Fiora", "Gideon", "Hesper", "Ivo", "Junia", "Kael", "Liesel", "Marek", "Niamh", "Oskar",
    "Petra", "Roderic", "Saoirse", "Tobin", "Una", "Valen", "Wilda", "Xander", "Yorick", "Zora",
    "Ailith", "Bram", "Cressida", "Dagny", "Eamon", "Freya", "Gwyn", "Hollis", "Ingrid", "Joss",
)  # fmt: skip

SURNAMES = (
    "Ashdown", "Blackthorn", "Coldwater", "Dunmere", "Emberly", "Fairweather", "Greymantle",
    "Hawkridge", "Ironwood", "Kettleburn", "Larkspur", "Marsh", "Northcott", "Oakheart",
    "Pennywhistle", "Quarrel", "Ravensworth", "Stonebridge", "Thistledown", "Underhill",
    "Vale", "Whitlock", "Yarrow", "Brightwater", "Copperpot",
)  # fmt: skip

# Words before a name that stay as they are ("Captain Edda Rusk" -> "Captain Nerys Vale")
TITLES = frozenset(
    [
        "Captain",
        "Sir",
        "Lady",
        "Lord",
        "Old",
        "Young",
        "Brother",
        "Sister",
        "Mother",
        "Father",
        "Master",
        "Mistress",
        "Madam",
        "Dame",
        "Duke",
        "Duchess",
        "King",
        "Queen",
        "Prince",
        "Princess",
        "Count",
        "Countess",
        "Baron",
        "Baroness",
        "Sergeant",
        "Commander",
        "Elder",
        "Saint",
        "Doctor",
        "Professor",
        "Archmage",
        "High",
        "Priest",
        "Priestess",
        "Magistrate",
        "Mayor",
        "Guildmaster",
        "Innkeeper",
        "the",
        "The",
        "of",
    ]
)
