// Whitepaper 5.1 Intent Normalizer + Semantic Resolution:
//
//	"The Intent Normalizer is the most critical component in the pipeline.
//	An incorrect signature generated here contaminates every downstream
//	component."
//
//	semantic_resolution:
//	  signature: {...}
//	  confidence_score: 0.82 # [0.0 - 1.0]
//	  ambiguity_level: medium # low | medium | high
//	  competing_interpretations:
//	    - join_nfe_clientes_silver
//	    - enrich_nfe_with_master_data
//	  confirmation_mode: hard_required
//	  environment_constraints_injected:
//	    - silver_documentos.state = partially_committed
//	    - silver_documentos.publish_allowed = false
//
//	"If the Context Registry indicates silver_documentos.state =
//	partially_committed, the Normalizer must adjust the interpretation of the
//	intent, inject the constraint into the plan, or block intents that depend
//	on publication of the affected dataset."
//
// Resolve reads English or Portuguese text with a closed vocabulary and the
// catalog's names and aliases, of datasets and of columns: the columns
// projected, grouped, measured and filtered go into the signature's
// selection, each resolved against the datasets in play or refused
// (docs/adr/0130, 0131), and phrases select micro-batch windows and
// cross-dataset atomicity; ResolveAs builds one of its competing
// interpretations by name; ResolveStructured completes a signature that
// names datasets by catalog name. Neither guesses: what the text does not
// say is either a documented default (docs/adr/0014) or a Reason to block.
// Neither adds anonymization or a merge key the user did not ask for; the
// Policy Engine replans for those. The confidence score and ambiguity level
// follow docs/adr/0012; the confirmation mode comes from confirmation.Evaluate.
package resolution
