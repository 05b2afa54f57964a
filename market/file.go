package market

import "errors"

func openFile(path string, cfg Config) (Source, error) {
	return nil, errors.New("market: file sources are not implemented yet")
}
