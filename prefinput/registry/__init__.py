"""The models the programs read: the catalogue (what each model is and where
its files come from), fetching them verified by checksum, and
nets/download.sh's command line."""
