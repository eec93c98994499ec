// Whitepaper 5.2 State Signature:
//
//	"Typed and enriched representation of the intent. It is the formal
//	contract that governs the entire remainder of the pipeline. Once
//	generated and confirmed, the Signature is immutable — any replanning
//	generates a new Signature."
//
// The canonical encoding (see Encode) is JSON of the normalised struct; the
// intent_signature_hash is the hex SHA-256 of those bytes. docs/adr/0003
// records why JSON rather than protobuf is used here.
package signature
