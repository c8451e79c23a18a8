"""The emulated Code Ocean: records, runs, data asset files and the rules of the API, without HTTP framing."""
