// The gateway's single writer, shared by every operation that changes the gateway.
import * as df from 'durable-functions';
import { beginGatewayWrite, checkGatewayWrite, finishGatewayRequests, submitGatewayChange, takeGatewayRequests } from '../activities/gatewayWriter';
import { gatewayWriterOrchestrator } from '../orchestrators/gatewayWriter';
import { GatewayWriter } from './names';

df.app.orchestration(GatewayWriter.orchestrator, gatewayWriterOrchestrator);
df.app.activity(GatewayWriter.submitActivity, { handler: submitGatewayChange, extraInputs: [df.input.durableClient()] });
df.app.activity(GatewayWriter.takeActivity, { handler: takeGatewayRequests });
df.app.activity(GatewayWriter.beginActivity, { handler: beginGatewayWrite });
df.app.activity(GatewayWriter.checkActivity, { handler: checkGatewayWrite });
df.app.activity(GatewayWriter.finishActivity, { handler: finishGatewayRequests, extraInputs: [df.input.durableClient()] });
