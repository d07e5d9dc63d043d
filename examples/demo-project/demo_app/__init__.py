"""The demo project's package: what `COPY . .` brings into the image after the install step."""

GREETING = "hello"
