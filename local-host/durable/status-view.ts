// The instance status document the Durable extension's HTTP API returns, including the condensed
// history it shows with showHistory=true (scheduling events folded into their completions).
import { EventType, type HistoryEvent } from './history.js';
import type { InstanceState, RuntimeStatus } from './state.js';

export interface ViewOptions {
  showInput?: boolean;
  showHistory?: boolean;
  showHistoryOutput?: boolean;
}

export interface InstanceView {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input?: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

export function instanceView(instance: InstanceState, options: ViewOptions): InstanceView {
  const view: InstanceView = {
    name: instance.name,
    instanceId: instance.instanceId,
    runtimeStatus: instance.status,
    customStatus: parse(instance.customStatus),
    output: parse(instance.output),
    createdTime: new Date(instance.createdTime).toISOString(),
    lastUpdatedTime: new Date(instance.lastUpdatedTime).toISOString(),
  };
  // The extension sends input: null when it is not shown; the DurableClient requires the key.
  view.input = options.showInput === false ? null : parse(instance.input);
  if (options.showHistory) view.historyEvents = condensedHistory(instance.history, !!options.showHistoryOutput);
  return view;
}

function condensedHistory(history: HistoryEvent[], withOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const out: Record<string, unknown>[] = [];
  for (const event of history) {
    const type = EventType[event.EventType];
    switch (event.EventType) {
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        break;
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
      case EventType.TimerCreated:
        scheduled.set(event.EventId, event);
        if (event.EventType === EventType.TimerCreated) {
          out.push({ EventType: type, FireAt: event.FireAt, Timestamp: event.Timestamp });
        }
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed: {
        const origin = scheduled.get(event.TaskScheduledId ?? -1);
        out.push({
          EventType: type,
          FunctionName: origin?.Name,
          ...(origin?.InstanceId ? { InstanceId: origin.InstanceId } : {}),
          ScheduledTime: origin?.Timestamp,
          Timestamp: event.Timestamp,
          ...(withOutput && event.Result !== undefined ? { Result: parse(event.Result) } : {}),
          ...(event.Reason ? { Reason: event.Reason } : {}),
        });
        break;
      }
      case EventType.TimerFired:
        out.push({ EventType: type, FireAt: event.FireAt, Timestamp: event.Timestamp });
        break;
      case EventType.EventRaised:
        out.push({ EventType: type, Name: event.Name, Timestamp: event.Timestamp, ...(withOutput ? { Input: parse(event.Input) } : {}) });
        break;
      case EventType.ExecutionStarted:
        out.push({ EventType: type, FunctionName: event.Name, Timestamp: event.Timestamp, ...(withOutput ? { Input: parse(event.Input) } : {}) });
        break;
      case EventType.ExecutionCompleted:
        out.push({
          EventType: type,
          OrchestrationStatus: event.OrchestrationStatus,
          Timestamp: event.Timestamp,
          ...(withOutput ? { Result: parse(event.Result) } : {}),
          ...(event.FailureDetails ? { FailureDetails: event.FailureDetails } : {}),
        });
        break;
      default:
        out.push({ EventType: type, Timestamp: event.Timestamp, ...(event.Reason ? { Reason: event.Reason } : {}) });
    }
  }
  return out;
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
