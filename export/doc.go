// Package export writes trained networks (energy models, generators) as ONNX
// models that any ONNX runtime can run with nothing else.
//
// Model takes the ONNX graph a network was trained from, its trained
// parameters and a Meta, and returns a new model; Save writes it
// atomically. An exported model is:
//
//   - the source graph with each floating-point initializer named in the
//     parameters holding the trained values (names are kept, so the
//     export can be imported and trained again);
//   - at opset 17 (IR version 8) by default, the opset with the widest
//     runtime support, or at any opset from MinOpset (13) to MaxOpset (23,
//     the newest the importer reads) with ModelWith and Options.Opset (the
//     IR version the first that has it). Older models are converted:
//     attributes that became inputs (the axes of
//     Squeeze, Unsqueeze and ReduceSum, Split's split, Reshape's shape,
//     Pad's pads and value, Slice's starts, ends and axes, Clip's bounds)
//     become INT64 or FLOAT initializers, Softmax and LogSoftmax before
//     opset 13 (which normalise the input flattened to a matrix) become
//     Flatten, Softmax, Reshape, and the broadcast and consumed_inputs
//     attributes of the first opsets are dropped. From opset 13 on, the
//     forms of opsets 18 and newer are converted both ways (the axes of the
//     other Reduce ops, Split's num_outputs, Gelu into Erf before opset
//     20), and what the target opset cannot express is an error. Only the
//     ops the importer supports are converted; the rest are copied as they
//     are. The model is first put in the importer's form
//     (importers.Prepare: functions inlined, Identity aliases of
//     initializers made initializers), with the output shapes the importer
//     propagates;
//   - in inference form: Dropout becomes Identity, and BatchNormalization
//     normalises with its running statistics, losing is_test, spatial and
//     training_mode and every output but the first. A generator trained,
//     or exported by PyTorch, in training mode is therefore exported for
//     sampling: its samples no longer depend on the rest of the batch;
//   - FLOAT throughout: DOUBLE, FLOAT16 and BFLOAT16 initializers,
//     constants, Cast targets, inputs and outputs become FLOAT;
//   - with the leading dimension of every input and output named "batch";
//   - produced by "ebmpipe" (ProducerVersion), with metadata_props written
//     from the Meta, replacing the source model's.
//
// # Normalisation
//
// A model trained on normalised data, x_train = (x − Shift)/Scale feature
// by feature, is exported to work on raw data: the normalisation is part
// of the graph. An energy model gets a prefix, Sub then Div, between its
// input and the rest of the graph, so it scores raw rows; a generator gets
// a suffix, Mul then Add, so it returns raw samples. The values are
// Constant nodes, not initializers, so that training the exported model
// again does not move them, and the nodes are named "ebmpipe.normalise/…":
// exporting an exported model again replaces its normalisation rather than
// adding another. Shift and Scale are also recorded in the metadata, for
// information only: a runtime must not apply them again.
//
// Since an exported energy takes raw rows, its log Z is that of the
// density of raw data: log p(x) = −E(x) − log Z. A log Z estimated for the
// energy over normalised data becomes the raw one by adding
// LogDetScale(Scale) = Σ log|Scale_i|.
//
// # Metadata
//
// The metadata_props keys, written in this order:
//
//	ebmpipe.kind          "energy" or "generator"
//	ebmpipe.log_z         log Z, a decimal number (energy models, when known)
//	ebmpipe.log_z_stderr  its standard error, a decimal number
//	ebmpipe.log_z_method  how it was estimated, free text (omitted if empty)
//	ebmpipe.shift         JSON array of numbers (when normalised)
//	ebmpipe.scale         JSON array of numbers (when normalised)
//	ebmpipe.features      JSON array of strings (when known)
//
// followed by Meta.Extra, sorted by key. Numbers are written with
// strconv.FormatFloat(v, 'g', -1, 64), which reads back exactly. ReadMeta
// reads them back into a Meta, and SetLogZ updates the log Z entries of a
// model in place.
package export
