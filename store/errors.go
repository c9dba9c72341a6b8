package store

import "errors"

// ErrNoStore is matched by the error OpenExisting returns for a missing
// store file.
var ErrNoStore = errors.New("no results store here: run an experiment into this folder first, or name the folder it wrote")

// ErrNewerSchema is matched by the error Open returns for a store written
// by a newer bertbench.
var ErrNewerSchema = errors.New("results store from a newer bertbench")

// ErrRunNotFound is matched by errors for a run id the store does not hold.
var ErrRunNotFound = errors.New("no such run")

// ErrConfigChanged is matched by the error ResumeRun returns when the
// configuration differs from the one the run was started with: resuming
// would mix outputs of two experiments under one run.
var ErrConfigChanged = errors.New("configuration changed since the run started")

// ErrInputChanged is matched by errors for an item, variation or scoring
// configuration stored before under the same name with other contents.
var ErrInputChanged = errors.New("stored with other contents before")

// ErrUnknown is matched by errors for a write that names a variation,
// item, generation or scoring configuration the run does not have.
var ErrUnknown = errors.New("not in this run")
