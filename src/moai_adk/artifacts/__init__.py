"""Deploy artifacts: the output folder walked once into a snapshot (paths, sizes, modes and the hashes
each platform needs), the persistent hash cache, and the checks made before any upload (escaping paths,
secret files, platform limits). Below ``providers`` and ``deploy``: both use it, it uses neither."""
