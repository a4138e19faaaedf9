"""Block devices and a crash-safe, wear-aware, bounded-RAM Sprig store on them."""
