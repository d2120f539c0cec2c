package emulator

import (
	"net/http"
)

// controlHandler serves the control host: counts and faults. It takes no
// credential because it binds to loopback like every other host.
func (e *Emulator) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(controlCountsPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: use GET", r.Method)
			return
		}
		writeJSON(w, http.StatusOK, e.Counts())
	})
	mux.HandleFunc(controlFaultsPath, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, http.StatusOK, e.Faults())
		case http.MethodPost:
			var f Faults
			if err := decodeBody(w, r, &f); err != nil {
				writeBadRequest(w, err)
				return
			}
			if err := f.Validate(); err != nil {
				writeError(w, http.StatusBadRequest, "%s", err)
				return
			}
			e.SetFaults(f)
			writeJSON(w, http.StatusOK, e.Faults())
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: use GET or POST", r.Method)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for %s: use %s or %s",
			r.URL.Path, controlCountsPath, controlFaultsPath)
	})
	return mux
}
