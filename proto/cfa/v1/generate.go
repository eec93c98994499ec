// Package cfav1 is the CFA service API (cfa.v1.IntentService and
// cfa.v1.ScheduleService): the messages generated from intent_service.proto
// and schedule_service.proto, and in cfav1connect the
// Connect client and handler (gRPC, gRPC-Web and JSON over HTTP).
package cfav1

//go:generate sh -c "cd ../.. && go tool buf generate"
