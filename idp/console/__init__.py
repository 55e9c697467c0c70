"""The console: "Mon compte" for every user (:mod:`.account`), the establishment's
account management for administrators (:mod:`.admin`), and how both are reached
(:mod:`.access`: the provider logs its own console in as a relying party, and asks a
code before each sensitive action)."""
