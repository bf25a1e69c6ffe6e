"""The compliance suite: collected when pytest runs with --profile. One module per requirement group."""
