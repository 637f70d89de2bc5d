"""Project setup (``moai-adk init``).

    detect.py     framework detection, a pure function of the folder
    scaffold.py   the init service: prepare -> plan_init -> apply_init (run_init does all three)
    moaitoml.py   moai.toml written fresh or merged into the user's file (tomlkit)
    platforms.py  vercel.json, netlify.toml, firebase.json + .firebaserc, supabase/config.toml
    gitignore.py  .gitignore entries appended when missing
    files.py      JSON/TOML parsing with file:line errors, merging, platform link files
    plan.py       FileChange and the all-or-nothing, atomic application of a plan
    examples.py   example sites shipped in the package (--example)
    link.py       --link: each provider links or creates its remote project
"""
