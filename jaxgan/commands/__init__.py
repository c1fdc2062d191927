"""Command-line subcommands kept outside jaxgan/cli.py: each module adds its parsers and handlers."""
