# Build, test and install steampipe-plugin-confluence.
BINARY  := steampipe-plugin-confluence
BIN     := bin/$(BINARY)
GO      ?= go
STEAMPIPE_DIR ?= $(HOME)/.steampipe
PLUGIN_DIR    := $(STEAMPIPE_DIR)/plugins/local/confluence
CONFIG_DIR    := $(STEAMPIPE_DIR)/config

.PHONY: build demo test lint install bench clean mod

build:
	$(GO) build -o $(BIN) .

# Starts the bundled emulator with a generated org of a few thousand users
# and queries it through the embedded SQL engine.
demo: build
	./$(BIN) demo --users 3000

# Packages whose tests never run the plugin SDK's scan path. The SDK
# v5.14.1 races on its own row counter (QueryData.streamRow against
# streamLeafListItem) in every scan that returns rows, so the packages that
# scan run without the race detector. e2e/race_test.go covers them: it
# builds the plugin with -race and accepts only that SDK race's reports.
RACE_PKGS := ./internal/atlassian/... ./internal/emulator/...

# Every test after the static checks; the race detector where it can run.
test: lint
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 40m ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Measures bulk activity reads against the emulator and fails when a target
# is missed. The pacing part runs for about a minute by design: it reads a
# 50,000-user org through a limit of 200 requests a minute. The scan part
# builds the plugin and streams full scans of orgs of up to 100,000 users.
bench:
	$(GO) run ./internal/bench -out bench/results.txt

# Regenerates the Powerpipe mod in powerpipe/ from the recommendation
# definitions; a test fails while the committed files differ.
mod:
	$(GO) run ./internal/modgen -out powerpipe

# Writes the plugin where the Steampipe CLI looks for local plugins, and a
# sample connection config unless one exists already.
install: build
	install -d $(PLUGIN_DIR) $(CONFIG_DIR)
	install -m 0755 $(BIN) $(PLUGIN_DIR)/confluence.plugin
	@if [ -e $(CONFIG_DIR)/confluence.spc ]; then \
	  echo "kept existing $(CONFIG_DIR)/confluence.spc"; \
	else \
	  install -m 0600 config/confluence.spc $(CONFIG_DIR)/confluence.spc; \
	  echo "wrote $(CONFIG_DIR)/confluence.spc"; \
	fi

clean:
	rm -rf bin
